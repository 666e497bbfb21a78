import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'admin@example.com' })
  @IsEmail()
  @MaxLength(254)
  email!: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password!: string;
}

export class CreateTokenDto {
  @ApiProperty({ example: 'ci-pipeline' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiProperty({ enum: ['admin', 'automation', 'client'] })
  @IsIn(['admin', 'automation', 'client'])
  kind!: 'admin' | 'automation' | 'client';

  @ApiProperty({
    required: false,
    description: 'Required for client tokens: the environment whose flags it reads',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  environment?: string;
}
